/** A one-line progress bar on stderr, redrawn at most every 1 %. */
export function progressBar(write: (s: string) => void) {
  let shown = -1;
  return {
    update(fraction: number, label: string) {
      const pct = Math.min(100, Math.floor(fraction * 100));
      if (pct === shown) return;
      shown = pct;
      const filled = Math.round(pct / 4);
      write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(25 - filled)}] ${String(pct).padStart(3)}% ${label.slice(0, 40).padEnd(40)}`,
      );
    },
    done() {
      if (shown >= 0) write(`\r${' '.repeat(80)}\r`);
    },
  };
}
