package io.shopmesh.mesh.meshctl.local;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Maps a container image, as the manifests name it, to the module of this repository whose Quarkus
 * fast-jar runs it locally ({@code <module>/target/quarkus-app/quarkus-run.jar}).
 */
public final class ImageCatalog {

  /** image repository (without registry) or repository:tag -> module. Exact tags win. */
  private static final Map<String, String> MODULES = new LinkedHashMap<>();

  static {
    MODULES.put("example/product-service:v1", "product-v1");
    MODULES.put("example/product-service:v2", "product-v2");
    MODULES.put("example/frontend", "frontend");
    MODULES.put("example/order-service", "order-service");
    MODULES.put("example/payment-provider", "payment-provider");
  }

  /** The module that runs an image, e.g. example/product-service:v1 -> product-v1. */
  public static Optional<String> moduleFor(String image) {
    if (image == null || image.isBlank()) {
      return Optional.empty();
    }
    String ref = stripRegistry(image.trim());
    String exact = MODULES.get(ref);
    if (exact != null) {
      return Optional.of(exact);
    }
    String repo = repository(ref);
    String tag = ref.length() > repo.length() ? ref.substring(repo.length() + 1) : "latest";
    // an untagged product image would be :latest, which neither version is
    for (Map.Entry<String, String> e : MODULES.entrySet()) {
      if (e.getKey().equals(repo) || e.getKey().equals(repo + ":" + tag)) {
        return Optional.of(e.getValue());
      }
    }
    return Optional.empty();
  }

  /** The module for an image, or an error that says which images are known. */
  public static String requireModule(String image, String where) {
    return moduleFor(image)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    where
                        + ": no local module runs image '"
                        + image
                        + "' (known images: "
                        + String.join(", ", known())
                        + ")"));
  }

  public static List<String> known() {
    return MODULES.keySet().stream().map(k -> k.contains(":") ? k : k + ":latest").toList();
  }

  private static String stripRegistry(String image) {
    int at = image.indexOf('@');
    if (at >= 0) {
      image = image.substring(0, at);
    }
    int slash = image.indexOf('/');
    if (slash > 0) {
      String first = image.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        return image.substring(slash + 1);
      }
    }
    return image;
  }

  private static String repository(String ref) {
    int colon = ref.lastIndexOf(':');
    int slash = ref.lastIndexOf('/');
    return colon > slash ? ref.substring(0, colon) : ref;
  }

  private ImageCatalog() {}
}
