package io.shopmesh.payment;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateGeneratorTest {

  @Test
  void keepsTheCaAndReissuesTheServerCertForANewName(@TempDir Path dir) throws Exception {
    Set<String> sans = new LinkedHashSet<>(Set.of("api.payment-provider.com", "127.0.0.1"));
    CertificateGenerator.ensure(dir, sans);
    String ca = Files.readString(dir.resolve("ca.crt"));
    String tls = Files.readString(dir.resolve("tls.crt"));
    assertThat(Files.readString(dir.resolve("tls.key"))).startsWith("-----BEGIN PRIVATE KEY-----");

    CertificateGenerator.ensure(dir, sans);
    assertThat(Files.readString(dir.resolve("tls.crt"))).isEqualTo(tls);

    sans.add("127.0.1.9");
    CertificateGenerator.ensure(dir, sans);
    assertThat(Files.readString(dir.resolve("ca.crt"))).isEqualTo(ca);
    assertThat(Files.readString(dir.resolve("tls.crt"))).isNotEqualTo(tls);
  }
}
