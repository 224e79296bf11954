/**
 * better-sqlite3, loaded by `require`: importing a CommonJS package first scans its code for its
 * export names, 10-15 ms of every command's start-up (measured); a require skips that.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;
