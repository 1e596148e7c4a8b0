package io.shopmesh.payment;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Generates the certificates before Quarkus starts, because the HTTPS listener reads tls.crt and
 * tls.key while booting (see quarkus.tls.* in application.properties).
 */
@QuarkusMain
public class PaymentMain {

  public static void main(String... args) throws Exception {
    Path dir = Path.of(setting("payment.certs-dir", "PAYMENT_CERTS_DIR", "certs"));
    List<String> extra = new ArrayList<>();
    extra.add(setting("quarkus.http.host", "QUARKUS_HTTP_HOST", ""));
    extra.addAll(Arrays.asList(setting("payment.certs.sans", "PAYMENT_CERTS_SANS", "").split(",")));
    CertificateGenerator.ensure(dir, CertificateGenerator.defaultSubjectAltNames(extra));
    Quarkus.run(args);
  }

  private static String setting(String property, String env, String fallback) {
    String v = System.getProperty(property);
    if (v == null || v.isBlank()) {
      v = System.getenv(env);
    }
    return v == null || v.isBlank() ? fallback : v;
  }
}
