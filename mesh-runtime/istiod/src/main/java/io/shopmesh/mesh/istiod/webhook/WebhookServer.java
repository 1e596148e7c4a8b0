package io.shopmesh.mesh.istiod.webhook;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * istiod's webhook port (15017 in Istio), HTTPS with the {@link WebhookCertificates} serving
 * certificate: {@code POST /validate} and {@code POST /inject} take an {@code admission.k8s.io/v1}
 * AdmissionReview and answer one with the same uid.
 */
public final class WebhookServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(WebhookServer.class.getName());
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  static final int MAX_BODY = 3 << 20;

  private final HttpsServer server;

  public WebhookServer(String bind, int port, WebhookCertificates certs, AdmissionWebhooks hooks)
      throws IOException {
    server = HttpsServer.create(new InetSocketAddress(bind, port), 64);
    server.setHttpsConfigurator(new HttpsConfigurator(certs.serverContext()));
    server.createContext("/validate", ex -> handle(ex, hooks::validate));
    server.createContext("/inject", ex -> handle(ex, hooks::inject));
    server.setExecutor(
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "webhook");
              t.setDaemon(true);
              return t;
            }));
  }

  public WebhookServer start() {
    server.start();
    LOG.info("webhooks (/validate, /inject) serving HTTPS on " + server.getAddress());
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void handle(HttpExchange ex, Function<AdmissionRequest, AdmissionResponse> hook)
      throws IOException {
    try {
      if (!"POST".equals(ex.getRequestMethod())) {
        send(ex, 405, "only POST\n");
        return;
      }
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readNBytes(MAX_BODY + 1);
      }
      if (body.length > MAX_BODY) {
        send(ex, 413, "AdmissionReview larger than " + MAX_BODY + " bytes\n");
        return;
      }
      AdmissionReview review;
      try {
        review = JSON.readValue(body, AdmissionReview.class);
      } catch (IOException e) {
        send(ex, 400, "not an AdmissionReview: " + e.getMessage() + "\n");
        return;
      }
      if (review.getRequest() == null || review.getRequest().getUid() == null) {
        send(ex, 400, "AdmissionReview without request.uid\n");
        return;
      }
      AdmissionResponse resp = hook.apply(review.getRequest());
      AdmissionReview out = new AdmissionReview();
      out.setApiVersion(
          review.getApiVersion() != null ? review.getApiVersion() : "admission.k8s.io/v1");
      out.setKind("AdmissionReview");
      out.setResponse(resp);
      byte[] json = JSON.writeValueAsBytes(out);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, json.length);
      try (OutputStream os = ex.getResponseBody()) {
        os.write(json);
      }
    } catch (RuntimeException e) {
      LOG.warning("webhook " + ex.getRequestURI() + " failed: " + e);
      send(ex, 500, "webhook failed: " + e.getMessage() + "\n");
    } finally {
      ex.close();
    }
  }

  private static void send(HttpExchange ex, int status, String text) throws IOException {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
