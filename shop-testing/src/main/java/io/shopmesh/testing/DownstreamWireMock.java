package io.shopmesh.testing;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.HashMap;
import java.util.Map;

/**
 * One WireMock server on an ephemeral loopback port playing every downstream service of the Quarkus
 * app under test: the rest clients named in the {@value #REST_CLIENTS} argument (comma separated
 * config keys, e.g. {@code product-service,order-service}) are pointed at it.
 */
public class DownstreamWireMock implements QuarkusTestResourceLifecycleManager {

  /** The init argument naming the rest clients to point at WireMock. */
  public static final String REST_CLIENTS = "rest-clients";

  private WireMockServer server;
  private String[] clients = new String[0];

  @Override
  public void init(Map<String, String> initArgs) {
    String names = initArgs.getOrDefault(REST_CLIENTS, "");
    if (names.isBlank()) {
      throw new IllegalArgumentException(
          "DownstreamWireMock needs the " + REST_CLIENTS + " init argument");
    }
    clients = names.split("\\s*,\\s*");
  }

  @Override
  public Map<String, String> start() {
    server = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
    String url = "http://127.0.0.1:" + server.port();
    Map<String, String> config = new HashMap<>();
    for (String client : clients) {
      config.put("quarkus.rest-client." + client + ".url", url);
    }
    return config;
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
