/**
 * Points where the end-to-end tests stop the parent: with FLEETPANEL_TEST_POINT_FILE set and that
 * file naming the point, the parent kills itself there (`kill:<point>`, once: the file is removed
 * first) or waits until the file is gone (`pause:<point>`). Without the variable this does nothing;
 * it exists because "SIGKILL at each step" needs each step hit exactly, not by timing luck.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';

export async function testPoint(point: string): Promise<void> {
  const file = process.env.FLEETPANEL_TEST_POINT_FILE;
  if (!file || !existsSync(file)) return;
  const wanted = readFileSync(file, 'utf8').trim();
  if (wanted === `kill:${point}`) {
    rmSync(file, { force: true });
    process.kill(process.pid, 'SIGKILL');
  }
  if (wanted === `pause:${point}`) {
    while (existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
