package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * One WireMock server on an ephemeral loopback port playing product-service and the payment API.
 */
public class DownstreamWireMock implements QuarkusTestResourceLifecycleManager {

  private WireMockServer server;

  @Override
  public Map<String, String> start() {
    server = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
    String url = "http://127.0.0.1:" + server.port();
    return Map.of(
        "quarkus.rest-client.product-service.url", url,
        "quarkus.rest-client.payment-api.url", url);
  }

  @Override
  public void inject(TestInjector injector) {
    injector.injectIntoFields(
        server,
        new TestInjector.AnnotatedAndMatchesType(InjectWireMock.class, WireMockServer.class));
  }

  @Override
  public void stop() {
    if (server != null) {
      server.stop();
    }
  }
}
