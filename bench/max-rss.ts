/**
 * Preloaded into a benchmarked process (`node --import dist/bench/max-rss.js ...`): at exit it
 * writes its peak resident set size as `max-rss-kb N` and its CPU time (user + system, all
 * threads) as `cpu-ms N` on stderr.
 */
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(
    `max-rss-kb ${u.maxRSS}\ncpu-ms ${((u.userCPUTime + u.systemCPUTime) / 1000).toFixed(0)}\n`,
  );
});
