package io.shopmesh.mesh.proxy;

import java.io.FileInputStream;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;

/**
 * Self-signed EC certificates for tests, made by the JDK's keytool into a PKCS12 keystore whose
 * password is {@link #PASSWORD}, valid for two days.
 */
final class TestCertificates {

  static final String PASSWORD = "changeit";

  private static final String KEYTOOL =
      Path.of(System.getProperty("java.home"), "bin", "keytool").toString();

  private TestCertificates() {}

  /** A key pair under {@code alias} in a new keystore {@code p12}; {@code san} null for none. */
  static Path selfSigned(Path p12, String alias, String dname, String san) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(KEYTOOL, "-genkeypair", "-alias", alias, "-keyalg", "EC", "-dname", dname));
    if (san != null) {
      cmd.addAll(List.of("-ext", "SAN=" + san));
    }
    cmd.addAll(
        List.of(
            "-validity",
            "2",
            "-storetype",
            "PKCS12",
            "-keystore",
            p12.toString(),
            "-storepass",
            PASSWORD));
    AdminAndEgressTest.run(cmd.toArray(String[]::new));
    return p12;
  }

  /** The certificate under {@code alias}, written as PEM to {@code pem} (a CA file). */
  static Path exportPem(Path p12, String alias, Path pem) throws Exception {
    AdminAndEgressTest.run(
        KEYTOOL,
        "-exportcert",
        "-rfc",
        "-alias",
        alias,
        "-keystore",
        p12.toString(),
        "-storepass",
        PASSWORD,
        "-file",
        pem.toString());
    return pem;
  }

  static KeyStore load(Path p12) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(p12.toFile())) {
      ks.load(in, PASSWORD.toCharArray());
    }
    return ks;
  }
}
