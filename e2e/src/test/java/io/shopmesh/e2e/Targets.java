package io.shopmesh.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** What every {@link MeshTarget} needs when it sets up a mesh of its own. */
final class Targets {

  private Targets() {}

  /** A loopback port free right now (for a published gateway or istiod port). */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Copies the default set ({@code manifests/*.yaml}, not the variants) into {@code dir}, so a
   * target applies changes to its own copy and the repository's files stay untouched.
   */
  static void copyManifests(Path home, Path dir) throws IOException {
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(home.resolve("manifests"))) {
      for (Path f :
          files.filter(p -> p.toString().endsWith(".yaml") && Files.isRegularFile(p)).toList()) {
        Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** Runs a command, both streams captured, bounded in time. */
  static MeshTarget.Result exec(
      Duration timeout, List<String> argv, Map<String, String> env, Path dir) {
    try {
      Path out = Files.createTempFile("compose-e2e", ".out");
      ProcessBuilder pb =
          new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile());
      pb.environment().putAll(env);
      if (dir != null) {
        pb.directory(dir.toFile());
      }
      Process p = pb.start();
      try {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
          return new MeshTarget.Result(
              124,
              "timed out after "
                  + timeout
                  + ": "
                  + String.join(" ", argv)
                  + "\n"
                  + Files.readString(out, StandardCharsets.UTF_8));
        }
        return new MeshTarget.Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      return new MeshTarget.Result(127, String.join(" ", argv) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new MeshTarget.Result(130, "interrupted");
    }
  }
}
