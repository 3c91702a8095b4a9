// Opening a file that should be a regular one without trusting its name: something else may have taken
// its place (a FIFO, which an ordinary open would wait on for a writer for ever, a device, a directory).
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** PATH opened for reading without waiting; undefined (closed again) when it is not a regular file. Open errors are thrown. */
export function openIfRegular(path: string): number | undefined {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  closeSync(fd);
  return undefined;
}

/** A regular file's bytes; undefined for anything else, and when it cannot be read. */
export function readRegular(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openIfRegular(file);
    return fd === undefined ? undefined : readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
