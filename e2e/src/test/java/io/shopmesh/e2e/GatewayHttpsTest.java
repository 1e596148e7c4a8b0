package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * HTTPS at the gateway as the walkthrough shows it: manifests/variants/gateway-https.yaml adds a
 * SIMPLE TLS server for shop.example.com with credentialName shop-credential, the secret meshctl up
 * made; a client trusting only that secret's CA gets the shop over TLS with SNI shop.example.com.
 * The HTTP-only Gateway is put back afterwards.
 */
@ExtendWith(MeshExtension.class)
@Timeout(180)
class GatewayHttpsTest {

  static MeshTarget mesh;
  static LocalMeshTarget local;

  @BeforeAll
  static void setUp(MeshTarget target) {
    mesh = target;
    assumeTrue(target instanceof LocalMeshTarget, "needs the local target (its state dir)");
    local = (LocalMeshTarget) target;
  }

  @AfterAll
  static void restore() {
    if (local != null) {
      assertThat(mesh.apply(mesh.home().resolve("manifests/gateway.yaml")).ok()).isTrue();
    }
  }

  @Test
  void theShopAnswersOverHttpsWithACertificateFromTheGeneratedCa() throws Exception {
    MeshTarget.Result r = mesh.apply(mesh.home().resolve("manifests/variants/gateway-https.yaml"));
    assertThat(r.ok()).as(r.output()).isTrue();

    SSLContext tls = trusting(local);
    String page = null;
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (System.nanoTime() < deadline) {
      try {
        page = get(tls, "shop.example.com", "/");
        break;
      } catch (IOException e) {
        // the HTTPS listener is not there until the gateway has the new config
        Thread.sleep(250);
      }
    }
    assertThat(page).as("an HTTPS answer within 30 s").isNotNull();
    assertThat(page).startsWith("HTTP/1.1 200");
    assertThat(page.toLowerCase()).contains("<html");
    assertThat(get(tls, "shop.example.com", "/products")).startsWith("HTTP/1.1 200");

    // a client that does not trust the generated CA refuses the certificate
    assertThatThrownBy(() -> get(SSLContext.getDefault(), "shop.example.com", "/"))
        .isInstanceOf(SSLHandshakeException.class);
  }

  static SSLContext trusting(LocalMeshTarget target) throws Exception {
    KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
    ts.load(null, null);
    try (InputStream in = Files.newInputStream(target.shopCa())) {
      ts.setCertificateEntry(
          "shop-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ts);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /**
   * GET over TLS to the published port with SNI {@code host}, verifying the certificate for that
   * name, as {@code curl --resolve host:PORT:127.0.0.1 --cacert ca.crt https://host:PORT/} does.
   */
  static String get(SSLContext tls, String host, String path) throws Exception {
    InetSocketAddress addr = local.gatewayHttps();
    Socket plain = new Socket();
    plain.connect(addr, 3000);
    plain.setSoTimeout(10_000);
    try (SSLSocket s =
        (SSLSocket) tls.getSocketFactory().createSocket(plain, host, addr.getPort(), true)) {
      SSLParameters p = s.getSSLParameters();
      p.setServerNames(List.of(new SNIHostName(host)));
      p.setEndpointIdentificationAlgorithm("HTTPS");
      p.setApplicationProtocols(new String[] {"http/1.1"});
      s.setSSLParameters(p);
      s.startHandshake();
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      s.getInputStream().transferTo(buf);
      return buf.toString(StandardCharsets.UTF_8);
    }
  }
}
