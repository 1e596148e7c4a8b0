package io.shopmesh.payment;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/** The HTTPS port serves the same API with a certificate that ca.crt validates. */
@QuarkusTest
@QuarkusTestResource(CertsResource.class)
class HttpsTest {

  @TestHTTPResource(value = "/v1/charges/count", tls = true)
  URL httpsUrl;

  @Test
  void certificateCoversTheApiHostAndLoopback() throws Exception {
    X509Certificate cert = CertificateGenerator.readCert(CertsResource.dir.resolve("tls.crt"));
    X509Certificate ca = CertificateGenerator.readCert(CertsResource.dir.resolve("ca.crt"));
    cert.verify(ca.getPublicKey());
    List<String> sans =
        cert.getSubjectAlternativeNames().stream()
            .map(e -> String.valueOf(e.get(1)))
            .collect(Collectors.toList());
    assertThat(sans).contains("api.payment-provider.com", "localhost", "127.0.0.1");
    assertThat(CertsResource.dir.resolve("tls.key")).exists();
  }

  @Test
  void httpsWorksWithTheGeneratedCa() throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry(
        "ca", CertificateGenerator.readCert(CertsResource.dir.resolve("ca.crt")));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    HttpClient client =
        HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
    URI uri = URI.create(httpsUrl.toString().replace("://localhost", "://localhost"));
    assertThat(uri.getScheme()).isEqualTo("https");
    HttpResponse<String> res =
        client.send(
            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.body()).contains("count");
  }
}
