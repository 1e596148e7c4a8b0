package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.shopmesh.mesh.meshctl.Meshctl;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayCredentialsTest {

  @TempDir Path tmp;

  @Test
  void theShopCredentialIsACertificateForShopExampleComSignedByItsOwnCa() throws Exception {
    Path root = tmp.resolve("certs");
    assertThat(GatewayCredentials.ensureShopCredential(root)).isTrue();
    Path dir = root.resolve("shop-credential");
    X509Certificate leaf = cert(dir.resolve("tls.crt"));
    X509Certificate ca = cert(GatewayCredentials.shopCa(root));
    leaf.verify(ca.getPublicKey());
    assertThat(leaf.getSubjectAlternativeNames())
        .extracting(n -> (Object) n.get(1))
        .containsExactly("shop.example.com");
    // the key is the certificate's: a signature made with it verifies with the certificate
    PrivateKey key = key(dir.resolve("tls.key"));
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(key);
    s.update(new byte[] {1, 2, 3});
    byte[] sig = s.sign();
    s.initVerify(leaf);
    s.update(new byte[] {1, 2, 3});
    assertThat(s.verify(sig)).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root)))
        .isEqualTo("rwx------");

    // kept across runs: the client's trusted CA stays valid
    String before = Files.readString(GatewayCredentials.shopCa(root));
    assertThat(GatewayCredentials.ensureShopCredential(root)).isFalse();
    assertThat(Files.readString(GatewayCredentials.shopCa(root))).isEqualTo(before);
  }

  @Test
  void createSecretTlsCopiesTheFilesUnderTheCredentialName() throws Exception {
    Path src = tmp.resolve("src");
    GatewayCredentials.ensureShopCredential(src);
    Path state = tmp.resolve("state");
    int rc =
        Meshctl.commandLine()
            .execute(
                "create",
                "secret",
                "tls",
                "my-cred",
                "--cert",
                src.resolve("shop-credential/tls.crt").toString(),
                "--key",
                src.resolve("shop-credential/tls.key").toString(),
                "--state-dir",
                state.toString());
    assertThat(rc).isZero();
    Path dir = state.resolve("certs/my-cred");
    assertThat(Files.readString(dir.resolve("tls.crt")))
        .isEqualTo(Files.readString(src.resolve("shop-credential/tls.crt")));
    assertThat(Files.readString(dir.resolve("tls.key")))
        .isEqualTo(Files.readString(src.resolve("shop-credential/tls.key")));
    assertThat(dir.resolve("ca.crt")).doesNotExist();

    assertThatThrownBy(() -> GatewayCredentials.dir(state, "../etc"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(
            Meshctl.commandLine()
                .execute(
                    "create",
                    "secret",
                    "tls",
                    "x",
                    "--cert",
                    "/nonexistent",
                    "--key",
                    "/nonexistent",
                    "--state-dir",
                    state.toString()))
        .isEqualTo(2);
  }

  private static X509Certificate cert(Path p) throws Exception {
    try (InputStream in = Files.newInputStream(p)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  private static PrivateKey key(Path p) throws Exception {
    String b64 =
        String.join(
            "", Files.readAllLines(p).stream().filter(l -> !l.startsWith("-----")).toList());
    return KeyFactory.getInstance("RSA")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
  }
}
