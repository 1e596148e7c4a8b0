package io.shopmesh.mesh.meshctl.local;

import io.shopmesh.mesh.istiod.webhook.WebhookCertificates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The local stand-in for Kubernetes TLS Secrets: a Gateway server's {@code credentialName} NAME is
 * read by the gateway from {@code <certs root>/NAME/tls.crt} and {@code tls.key} (and {@code
 * ca.crt} for MUTUAL), the files a mounted Secret of type kubernetes.io/tls has.
 */
public final class GatewayCredentials {

  /** The credential manifests/variants/gateway-https.yaml names. */
  public static final String SHOP_CREDENTIAL = "shop-credential";

  public static final String SHOP_HOST = "shop.example.com";

  /** The CA that signed the generated shop certificate: what {@code curl --cacert} trusts. */
  public static final String SHOP_CA_DIR = "shop-ca";

  private GatewayCredentials() {}

  public static Path dir(Path certsRoot, String name) {
    if (!name.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
      throw new IllegalArgumentException(
          "invalid secret name \"" + name + "\": a lowercase DNS subdomain, as Kubernetes wants");
    }
    return certsRoot.resolve(name);
  }

  public static Path shopCa(Path certsRoot) {
    return certsRoot.resolve(SHOP_CA_DIR).resolve("ca.crt");
  }

  /** {@code meshctl create secret tls}: copies the files in, replacing an older secret. */
  public static Path create(Path certsRoot, String name, Path cert, Path key, Path caCert) {
    Path dir = dir(certsRoot, name);
    try {
      Files.createDirectories(dir);
      Files.copy(cert, dir.resolve("tls.crt"), StandardCopyOption.REPLACE_EXISTING);
      writePrivate(dir.resolve("tls.key"), Files.readString(key));
      if (caCert != null) {
        Files.copy(caCert, dir.resolve("ca.crt"), StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.deleteIfExists(dir.resolve("ca.crt"));
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the secret to " + dir + ": " + e, e);
    }
  }

  /**
   * The shop's credential, made on first use so HTTPS works without openssl: a CA of its own
   * ({@link #shopCa}) and a certificate for shop.example.com. Kept across runs, so a client keeps
   * trusting the same CA; a secret created by hand under the same name is left alone.
   *
   * @return true when it was created now
   */
  public static boolean ensureShopCredential(Path certsRoot) {
    Path dir = dir(certsRoot, SHOP_CREDENTIAL);
    if (Files.isRegularFile(dir.resolve("tls.crt"))
        && Files.isRegularFile(dir.resolve("tls.key"))) {
      return false;
    }
    WebhookCertificates certs =
        WebhookCertificates.create("shop mesh gateway CA", List.of(SHOP_HOST));
    try {
      Files.createDirectories(dir);
      Files.createDirectories(shopCa(certsRoot).getParent());
      Files.writeString(shopCa(certsRoot), certs.caPem());
      // the chain a client needs past the trusted CA: just the leaf, as a public CA's would be
      Files.writeString(dir.resolve("tls.crt"), certs.servingPem());
      writePrivate(dir.resolve("tls.key"), certs.servingKeyPem());
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir + ": " + e, e);
    }
  }

  /**
   * The key is readable as a mounted Secret's (mode 0644: the gateway container runs as its own
   * user); the certs root above it is the user's alone (0700), so no other local user gets in.
   */
  private static void writePrivate(Path file, String content) throws IOException {
    Path root = file.getParent().getParent();
    try {
      Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: its own defaults apply
    }
    Files.writeString(file, content);
  }
}
