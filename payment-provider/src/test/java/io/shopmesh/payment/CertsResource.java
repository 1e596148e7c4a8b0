package io.shopmesh.payment;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Generates the certificates into a temp dir before the app boots, as PaymentMain does. */
public class CertsResource implements QuarkusTestResourceLifecycleManager {

  static Path dir;

  @Override
  public Map<String, String> start() {
    try {
      dir = Files.createTempDirectory("payment-certs");
      CertificateGenerator.ensure(dir, CertificateGenerator.defaultSubjectAltNames(List.of()));
      return Map.of("payment.certs-dir", dir.toString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void stop() {}
}
