import { watch, type FSWatcher } from 'node:fs';

export interface TreeWatcher {
  close(): void;
}

export interface WatchTreeOptions {
  /** Called at once for every file event: the caller marks its state stale before the debounce ends. */
  onEvent?: () => void;
  /** Called once a burst of events has been quiet for `debounceMs`. */
  onSettled: () => void;
  /** The watcher failed (e.g. the folder was deleted); it is closed already. */
  onError: (err: Error) => void;
  debounceMs?: number;
}

/**
 * Watches folders recursively with `fs.watch` (recursive on Linux since Node 19.1) and calls
 * back once per burst. Editors save in bursts — write a temp file, rename it over the original,
 * touch the folder — so the debounce turns one save into one reload.
 *
 * Node 20's recursive watcher on Linux ignores `unref()`, so the caller must `close()` it or the
 * process never exits; the preview holds one only while a page is connected.
 *
 * @example
 * const w = watchTree(['templates', 'fixtures'], { onSettled: reload, onError: log });
 * w.close();
 */
export function watchTree(folders: readonly string[], o: WatchTreeOptions): TreeWatcher {
  const debounceMs = o.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const watchers: FSWatcher[] = [];

  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
  const onChange = () => {
    if (closed) return;
    o.onEvent?.();
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closed) o.onSettled();
    }, debounceMs);
  };

  try {
    for (const folder of folders) {
      const w = watch(folder, { recursive: true }, onChange);
      w.on('error', (err) => {
        close();
        o.onError(err);
      });
      watchers.push(w);
    }
  } catch (err) {
    close();
    throw err;
  }
  return { close };
}
