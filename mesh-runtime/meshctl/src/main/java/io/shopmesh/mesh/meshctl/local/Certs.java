package io.shopmesh.mesh.meshctl.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * Puts the payment provider's CA where the proxies look for it: DestinationRule payment-api says
 * {@code caCertificates: /etc/certs/payment-provider/ca.crt}, and the proxies read /etc/certs/ from
 * {@code --certs-root} ({@code .mesh/certs}), the local stand-in for a mounted volume.
 */
public final class Certs {

  /** Where the payment-provider module keeps the certificates it generates, first match wins. */
  static final List<String> SOURCES = List.of(
      "payment-provider/certs",
      "payment-provider/target/certs",
      "payment-provider/src/main/resources/certs",
      "payment-provider/src/main/resources/tls");

  private Certs() {}

  public static void prepare(Path home, Path certsRoot) throws IOException {
    Path target = certsRoot.resolve("payment-provider");
    Files.createDirectories(target);
    for (String s : SOURCES) {
      Path src = home.resolve(s);
      if (Files.isDirectory(src)) {
        try (Stream<Path> files = Files.list(src)) {
          for (Path f : files.filter(Files::isRegularFile).toList()) {
            Files.copy(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
          }
        }
        return;
      }
    }
  }
}
