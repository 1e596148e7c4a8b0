package io.shopmesh.mesh.meshctl.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Optional;

/** Reads and atomically writes {@code <state dir>/state.json}. */
public final class StateStore {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;

  public StateStore(Path stateDir) {
    this.dir = stateDir;
  }

  public Path dir() {
    return dir;
  }

  public Path file() {
    return dir.resolve("state.json");
  }

  public Optional<MeshState> read() {
    Path f = file();
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(f.toFile(), MeshState.class));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  /** Writes via a temp file and a rename, so readers never see half a file. */
  public synchronized void write(MeshState state) {
    try {
      Files.createDirectories(dir);
      Path tmp = dir.resolve("state.json.tmp");
      JSON.writeValue(tmp.toFile(), state);
      try {
        Files.move(
            tmp, file(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file(), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file() + ": " + e.getMessage(), e);
    }
  }

  public void delete() {
    try {
      Files.deleteIfExists(file());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether the process that wrote the state still runs (same pid and same start time). */
  public static boolean alive(long pid, long startMillis) {
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .filter(
            h ->
                startMillis <= 0
                    || h.info()
                        .startInstant()
                        .map(i -> Math.abs(i.toEpochMilli() - startMillis) < 2000)
                        .orElse(true))
        .isPresent();
  }

  public static long startMillis(ProcessHandle h) {
    return h.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
  }
}
