/** `node --import` this file to run a command with bullmq and ioredis made unloadable. */
import { register } from 'node:module';

register('./no-bullmq-hooks.js', import.meta.url);
