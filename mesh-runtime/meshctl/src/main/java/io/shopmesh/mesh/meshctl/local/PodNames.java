package io.shopmesh.mesh.meshctl.local;

import java.nio.charset.StandardCharsets;
import java.util.random.RandomGenerator;

/**
 * Pod names as Kubernetes makes them: {@code <deployment>-<pod-template-hash>-<suffix>}.
 *
 * <p>The template hash is Kubernetes' own recipe (FNV-1a 32 of the template, printed in decimal and
 * passed through {@code SafeEncodeString}), so names look like the ones people know, e.g. {@code
 * frontend-7d4b9c8f6d-x2k9p}. The 5-character suffix is random, as the ReplicaSet controller's is.
 */
public final class PodNames {

  /** Kubernetes' alphabet without vowels and confusable characters (k8s.io/apimachinery rand). */
  static final String ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

  private PodNames() {}

  /** The pod-template-hash of a template, given any stable text form of it. Up to 10 chars. */
  public static String templateHash(String template) {
    int hash = 0x811c9dc5;
    for (byte b : template.getBytes(StandardCharsets.UTF_8)) {
      hash ^= (b & 0xff);
      hash *= 0x01000193;
    }
    return safeEncode(Long.toString(Integer.toUnsignedLong(hash)));
  }

  /** Kubernetes' {@code rand.SafeEncodeString}: maps every byte onto the safe alphabet. */
  static String safeEncode(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      sb.append(ALPHANUMS.charAt((b & 0xff) % ALPHANUMS.length()));
    }
    return sb.toString();
  }

  /** A random 5-character suffix, as the ReplicaSet controller generates. */
  public static String suffix(RandomGenerator random) {
    StringBuilder sb = new StringBuilder(5);
    for (int i = 0; i < 5; i++) {
      sb.append(ALPHANUMS.charAt(random.nextInt(ALPHANUMS.length())));
    }
    return sb.toString();
  }

  public static String podName(String deployment, String templateHash, String suffix) {
    return deployment + "-" + templateHash + "-" + suffix;
  }
}
