package io.shopmesh.frontend;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.shopmesh.testing.InjectWireMock;
import java.util.HashMap;
import java.util.Map;

/**
 * WireMock playing the local sidecar: the apps keep their mesh names as base URLs and only the
 * global quarkus.rest-client.proxy-address points at this server.
 */
public class SidecarWireMock implements QuarkusTestResourceLifecycleManager {

  private WireMockServer server;
  private boolean registry;

  /** initArg style=registry uses Quarkus' proxy registry (quarkus.proxy.host/port) instead. */
  @Override
  public void init(Map<String, String> initArgs) {
    registry = "registry".equals(initArgs.get("style"));
  }

  @Override
  public Map<String, String> start() {
    server = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
    Map<String, String> config = new HashMap<>();
    if (registry) {
      config.put("quarkus.proxy.host", "127.0.0.1");
      config.put("quarkus.proxy.port", String.valueOf(server.port()));
    } else {
      config.put("quarkus.rest-client.proxy-address", "127.0.0.1:" + server.port());
    }
    config.put("quarkus.rest-client.product-service.url", "http://product-service:8080");
    config.put("quarkus.rest-client.order-service.url", "http://order-service:8080");
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
