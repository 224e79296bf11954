/**
 * Preloaded into a benchmarked process (`node --import dist/bench/max-rss.js ...`): at exit it
 * writes its peak resident set size as `max-rss-kb N` on stderr.
 */
process.on('exit', () => process.stderr.write(`max-rss-kb ${process.resourceUsage().maxRSS}\n`));
