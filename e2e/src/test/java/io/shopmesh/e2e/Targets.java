package io.shopmesh.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
}
