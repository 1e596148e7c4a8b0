package io.shopmesh.mesh.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The walkthrough's manifests as test fixtures, read from the repository's {@code manifests/}
 * directory (the one the docs and {@code meshctl up} use), so every test sees the same YAML.
 */
public final class Manifests {

  private static final String PRODUCT_VS = "product-virtualservice.yaml";

  private Manifests() {}

  /** The repository's {@code manifests/} directory, found from the working directory upwards. */
  public static Path dir() {
    Path d = Path.of("").toAbsolutePath();
    while (d != null) {
      Path m = d.resolve("manifests");
      if (Files.isRegularFile(m.resolve(PRODUCT_VS))) {
        return m;
      }
      d = d.getParent();
    }
    throw new IllegalStateException(
        "no manifests/ directory above " + Path.of("").toAbsolutePath());
  }

  /** One manifest file, e.g. {@code "product-service.yaml"} or {@code "variants/…"}. */
  public static Path path(String name) {
    return dir().resolve(name);
  }

  /** The text of one manifest file. */
  public static String read(String name) {
    try {
      return Files.readString(path(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** product-vs: the 80/20 v1/v2 split with timeout and retries. */
  public static String productVirtualService() {
    return read(PRODUCT_VS);
  }

  /** product-vs with other weights for v1 and v2 (same timeout and retries). */
  public static String productVirtualService(int v1, int v2) {
    String yaml = productVirtualService();
    String out =
        yaml.replaceFirst("weight: 80(?=\\D)", "weight: " + v1)
            .replaceFirst("weight: 20(?=\\D)", "weight: " + v2);
    if (out.equals(yaml) && (v1 != 80 || v2 != 20)) {
      throw new IllegalStateException(PRODUCT_VS + " no longer has the 80/20 weights");
    }
    return out;
  }

  /** The product-service DestinationRule: subsets v1 and v2 by the version label. */
  public static String productDestinationRule() {
    return read("product-destination-rule.yaml");
  }

  /** The product-service Service (port 8080, named http). */
  public static String productService() {
    return read("product-service.yaml");
  }
}
