package io.shopmesh.mesh.xds;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.testing.Manifests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The walkthrough's manifests, a registry like {@code meshctl up} makes, and YAML snippets. */
final class Fixtures {

  static final Path MANIFESTS = Manifests.dir();

  static final WorkloadInstance GATEWAY_POD =
      new WorkloadInstance(
          "istio-ingressgateway-0",
          "istio-system",
          "127.0.1.100",
          Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"),
          "istio-ingressgateway",
          List.of(new PodPort("http2", 8080, "TCP"), new PodPort("https", 8443, "TCP")),
          false);

  private Fixtures() {}

  static MeshConfig manifests() {
    LoadResult r = new ConfigLoader().load(List.of(MANIFESTS));
    return r.config();
  }

  static ServiceRegistry registry(MeshConfig config) {
    List<WorkloadInstance> ws =
        new ArrayList<>(ServiceRegistry.fromDeployments(config).workloads());
    ws.add(GATEWAY_POD);
    return new ServiceRegistry(ws);
  }

  static WorkloadInstance pod(ServiceRegistry reg, String name) {
    return reg.workloads().stream().filter(w -> w.podName().equals(name)).findFirst().orElseThrow();
  }

  /** Loads YAML text (one or more documents) as config, failing on any error. */
  static MeshConfig yaml(String... docs) {
    try {
      Path dir = Files.createTempDirectory("xds-test");
      Path f = dir.resolve("config.yaml");
      Files.writeString(f, String.join("\n---\n", docs));
      LoadResult r = new ConfigLoader().load(List.of(dir));
      if (r.hasErrors()) {
        throw new IllegalArgumentException(r.diagnostics().toString());
      }
      Files.delete(f);
      Files.delete(dir);
      return r.config();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static final String PRODUCT_SERVICE = Manifests.productService();

  static final String PRODUCT_DR = Manifests.productDestinationRule();

  static ServiceRegistry productPods() {
    return new ServiceRegistry(
        List.of(
            new WorkloadInstance(
                "product-service-v1-0",
                "default",
                "127.0.1.5",
                Map.of("app", "product-service", "version", "v1"),
                "product-service-v1",
                List.of(new PodPort(null, 8080, "TCP")),
                true),
            new WorkloadInstance(
                "product-service-v2-0",
                "default",
                "127.0.1.7",
                Map.of("app", "product-service", "version", "v2"),
                "product-service-v2",
                List.of(new PodPort(null, 8080, "TCP")),
                true),
            new WorkloadInstance(
                "frontend-0",
                "default",
                "127.0.1.1",
                Map.of("app", "frontend", "version", "v1"),
                "frontend",
                List.of(new PodPort(null, 80, "TCP")),
                true)));
  }

  static ProxyNode frontendSidecar() {
    return ProxyNode.sidecar(
        productPods().workloads().stream()
            .filter(w -> w.podName().equals("frontend-0"))
            .findFirst()
            .orElseThrow());
  }
}
