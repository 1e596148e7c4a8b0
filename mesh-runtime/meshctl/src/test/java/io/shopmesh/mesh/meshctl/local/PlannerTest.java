package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Kind;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlannerTest {

  static final Path MANIFESTS = Path.of("../../manifests");

  static MeshPlan walkthroughPlan() {
    MeshConfig config = new ConfigLoader().load(List.of(MANIFESTS)).config();
    return Planner.plan(config, Planner.Options.defaults(), new Random(7));
  }

  @Test
  void oneLocalPodPerReplicaPlusGatewayAndProvider() {
    MeshPlan plan = walkthroughPlan();
    List<Pod> workloads = plan.pods().stream().filter(p -> p.kind() == Kind.WORKLOAD).toList();
    // product v1 x2, v2 x2, frontend x3, order-service x1
    assertThat(workloads).hasSize(8);
    assertThat(workloads).filteredOn(p -> p.workload().equals("frontend")).hasSize(3);
    assertThat(workloads)
        .filteredOn(p -> p.workload().equals("product-service-v1"))
        .hasSize(2)
        .allSatisfy(p -> assertThat(p.version()).isEqualTo("v1"));
    assertThat(plan.gateway().name()).matches("istio-ingressgateway-[a-z0-9]{1,10}-[a-z0-9]{5}");
    assertThat(plan.gateway().namespace()).isEqualTo("istio-system");
    assertThat(plan.gateway().labels())
        .containsEntry("istio", "ingressgateway")
        .containsEntry("app", "istio-ingressgateway");
    assertThat(plan.gateway().ip()).isEqualTo("127.0.1.1");
    Pod provider =
        plan.pods().stream().filter(p -> p.kind() == Kind.EXTERNAL).findFirst().orElseThrow();
    assertThat(provider.ip()).isEqualTo("127.0.1.2");
    assertThat(provider.hasProxy()).isFalse();
  }

  @Test
  void eachPodRunsAsItsDeploymentsServiceAccount() {
    MeshPlan plan = walkthroughPlan();
    Map<String, String> byWorkload = new TreeMap<>();
    plan.pods().forEach(p -> byWorkload.put(p.workload(), String.valueOf(p.serviceAccount())));
    assertThat(byWorkload)
        .containsEntry("frontend", "shop-frontend")
        .containsEntry("product-service-v1", "shop-product")
        .containsEntry("product-service-v2", "shop-product")
        .containsEntry("order-service", "shop-order")
        .containsEntry("istio-ingressgateway", "istio-ingressgateway-service-account");
    String json = RegistryWriter.json(plan, Map.of(), "test");
    assertThat(json).contains("\"serviceAccount\" : \"shop-order\"");
  }

  @Test
  void podsAreNamedLikeKubernetesAndShareTheTemplateHashPerDeployment() {
    MeshPlan plan = walkthroughPlan();
    List<Pod> frontends =
        plan.pods().stream().filter(p -> p.workload().equals("frontend")).toList();
    assertThat(frontends)
        .allSatisfy(p -> assertThat(p.name()).matches("frontend-[a-z0-9]{1,10}-[a-z0-9]{5}"));
    String hash = frontends.get(0).labels().get("pod-template-hash");
    assertThat(frontends)
        .allSatisfy(p -> assertThat(p.labels()).containsEntry("pod-template-hash", hash));
    assertThat(frontends.stream().map(Pod::name).distinct()).hasSize(3);
  }

  @Test
  void everyPodHasItsOwnAddressAndLowPortsAreMapped() {
    MeshPlan plan = walkthroughPlan();
    assertThat(plan.pods().stream().map(Pod::ip).distinct()).hasSize(plan.pods().size());
    Pod frontend =
        plan.pods().stream().filter(p -> p.workload().equals("frontend")).findFirst().orElseThrow();
    assertThat(frontend.appPorts()).extracting(Object::toString).containsExactly("80->10080");
    Pod product =
        plan.pods().stream()
            .filter(p -> p.workload().equals("product-service-v2"))
            .findFirst()
            .orElseThrow();
    assertThat(product.appPorts()).extracting(Object::toString).containsExactly("8080");
    assertThat(product.containers())
        .extracting(MeshPlan.Container::name)
        .containsExactly("product-service", "istio-proxy");
    assertThat(product.containers().get(0).module()).isEqualTo("product-v2");
  }

  @Test
  void neededModules() {
    assertThat(Planner.modules(walkthroughPlan()))
        .containsExactlyInAnyOrder(
            "payment-provider", "frontend", "order-service", "product-v1", "product-v2");
  }

  @Test
  void unknownImageIsAClearError(@TempDir Path dir) throws IOException {
    Files.writeString(
        dir.resolve("web.yaml"),
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: nginx:1.27
        """);
    MeshConfig config = new ConfigLoader().load(List.of(dir)).config();
    assertThatThrownBy(() -> Planner.plan(config, Planner.Options.defaults(), new Random(1)))
        .hasMessageContaining("Deployment default/web")
        .hasMessageContaining("nginx:1.27");
  }
}
