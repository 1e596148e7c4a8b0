package io.shopmesh.mesh.istiod;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import io.shopmesh.mesh.config.LoadResult;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * A directory of YAML files (non-recursive, like {@code kubectl apply -f DIR}), watched with the
 * platform WatchService, with a polling fallback (file sizes and modification times) for
 * filesystems that do not report changes.
 */
public final class DirectoryConfigSource implements ConfigSource {

  private static final Logger LOG = Logger.getLogger(DirectoryConfigSource.class.getName());

  private final Path dir;
  private final ConfigFiles files;
  private final long pollMillis;
  private volatile boolean closed;
  private WatchService watch;
  private Thread thread;

  public DirectoryConfigSource(Path dir) {
    this(dir, 1000);
  }

  /**
   * @param pollMillis interval of the safety-net poll (also the fallback when watching fails)
   */
  public DirectoryConfigSource(Path dir, long pollMillis) {
    this.dir = dir.toAbsolutePath().normalize();
    this.files = new ConfigFiles(this.dir);
    this.pollMillis = pollMillis;
  }

  @Override
  public LoadResult load() {
    return files.load();
  }

  /** How many files the last {@link #load} read and validated (the others were unchanged). */
  public int lastReadFiles() {
    return files.lastRead();
  }

  @Override
  public Path directory() {
    return dir;
  }

  @Override
  public void start(Runnable onChange) {
    try {
      watch = dir.getFileSystem().newWatchService();
      dir.register(watch, ENTRY_CREATE, ENTRY_MODIFY, ENTRY_DELETE, OVERFLOW);
    } catch (IOException | UnsupportedOperationException e) {
      LOG.warning(
          "cannot watch " + dir + " (" + e.getMessage() + "), polling every " + pollMillis + " ms");
      watch = null;
    }
    thread = new Thread(() -> run(onChange), "config-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void run(Runnable onChange) {
    Map<String, String> seen = fingerprint();
    while (!closed) {
      boolean changed = false;
      try {
        if (watch != null) {
          WatchKey key = watch.poll(pollMillis, TimeUnit.MILLISECONDS);
          if (key != null) {
            changed = !key.pollEvents().isEmpty();
            key.reset();
          }
        } else {
          Thread.sleep(pollMillis);
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      }
      Map<String, String> now = fingerprint();
      if (!now.equals(seen)) {
        changed = true;
      }
      seen = now;
      if (changed && !closed) {
        onChange.run();
      }
    }
  }

  private Map<String, String> fingerprint() {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(
          p -> {
            try {
              out.put(
                  p.getFileName().toString(),
                  Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis());
            } catch (IOException e) {
              out.put(p.getFileName().toString(), "?");
            }
          });
    } catch (IOException e) {
      // directory vanished: the loader reports it
    }
    return out;
  }

  @Override
  public void close() {
    closed = true;
    if (watch != null) {
      try {
        watch.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
