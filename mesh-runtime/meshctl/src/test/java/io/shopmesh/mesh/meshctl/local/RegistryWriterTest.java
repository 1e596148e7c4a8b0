package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryWriterTest {

  static final Path MANIFESTS = Path.of("../../manifests").toAbsolutePath().normalize();

  @TempDir Path tmp;

  @Test
  void everyPlannedPodIsListedWithItsReadinessAndWrittenOnlyOnChange() throws Exception {
    MeshPlan plan =
        Planner.plan(
            new ConfigLoader().load(List.of(MANIFESTS)).config(),
            Planner.Options.defaults(),
            new Random(1));
    MeshPlan.Pod v1 =
        plan.pods().stream()
            .filter(p -> p.workload().equals("product-service-v1"))
            .findFirst()
            .get();
    RegistryWriter w = new RegistryWriter(plan, tmp.resolve("registry.json"), "test");
    assertThat(w.write(Map.of(v1.name(), true))).isTrue();
    assertThat(w.write(Map.of(v1.name(), true))).isFalse();

    JsonNode root = new ObjectMapper().readTree(Files.readString(w.file()));
    assertThat(root.get("source").asText()).isEqualTo("test");
    long workloads = plan.pods().stream().filter(p -> p.kind() == MeshPlan.Kind.WORKLOAD).count();
    assertThat(root.get("pods")).hasSize((int) workloads + 1); // and the gateway, not the provider
    for (JsonNode p : root.get("pods")) {
      boolean isV1 = p.get("name").asText().equals(v1.name());
      assertThat(p.get("ready").asBoolean()).as(p.get("name").asText()).isEqualTo(isV1);
      if (isV1) {
        assertThat(p.get("ip").asText()).isEqualTo(v1.ip());
        assertThat(p.get("labels").get("version").asText()).isEqualTo("v1");
        assertThat(p.get("ports").get(0).get("containerPort").asInt()).isEqualTo(8080);
        assertThat(p.get("sidecar").asBoolean()).isTrue();
      }
    }
    assertThat(Files.list(tmp)).hasSize(1); // no temp file left
  }
}
