package io.shopmesh.mesh.meshctl.compose;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.MeshConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ComposeGeneratorTest {

  static final Path ROOT = Path.of("../..");

  static MeshConfig manifests() {
    return new ConfigLoader().load(List.of(ROOT.resolve("manifests"))).config();
  }

  @Test
  void checkedInComposeFileIsTheGeneratedOne() throws IOException {
    String generated =
        new ComposeGenerator(manifests(), ComposeGenerator.Options.defaults()).generate();
    String committed = Files.readString(ROOT.resolve("docker-compose.yml"));
    assertThat(committed)
        .as(
            "docker-compose.yml is out of date with manifests/: run ./meshctl compose > docker-compose.yml")
        .isEqualTo(generated);
  }

  @Test
  void istiodGetsThePlannedPodsAsItsRegistryAndExitsOnOutOfMemory() {
    String yml = new ComposeGenerator(manifests(), ComposeGenerator.Options.defaults()).generate();
    assertThat(yml)
        .contains("REGISTRY_JSON: \"{\\\"source\\\":\\\"meshctl compose")
        .contains("\\\"probe\\\":{\\\"tcpPort\\\":8080}")
        .contains("-XX:+ExitOnOutOfMemoryError")
        .contains("restart: unless-stopped");
  }

  @Test
  void oneHolderInitProxyAndAppPerReplica() {
    String yml = new ComposeGenerator(manifests(), ComposeGenerator.Options.defaults()).generate();
    assertThat(count(yml, "(?m)^  (product-service-v1-[a-z0-9]+-[a-z0-9]{5}):$")).isEqualTo(2);
    assertThat(count(yml, "(?m)^  (product-service-v2-[a-z0-9]+-[a-z0-9]{5}):$")).isEqualTo(2);
    assertThat(count(yml, "(?m)^  (frontend-[a-z0-9]+-[a-z0-9]{5}):$")).isEqualTo(3);
    assertThat(count(yml, "(?m)^  (order-service-[a-z0-9]+-[a-z0-9]{5}):$")).isEqualTo(1);
    assertThat(count(yml, "(?m)^  [a-z0-9-]+-istio-init:$")).isEqualTo(8);
    assertThat(count(yml, "(?m)^  [a-z0-9-]+-istio-proxy:$")).isEqualTo(8);
    assertThat(count(yml, "network_mode: \"service:")).isEqualTo(8 * 3);
    assertThat(yml)
        .contains("\"127.0.0.1:${GATEWAY_PORT:-8080}:8080\"")
        .contains("aliases: [\"api.payment-provider.com\"]")
        .contains("\"${MESH_CONFIG_DIR:-./manifests}:/etc/istio/config\"")
        .contains("condition: service_completed_successfully")
        .doesNotContain("QUARKUS_REST_CLIENT_PROXY_ADDRESS");
  }

  @Test
  void interceptionNoneGivesAppsTheProxySettingAndNoInitStep() {
    String yml =
        new ComposeGenerator(
                manifests(),
                new ComposeGenerator.Options(
                    "10.244.0", ComposeGenerator.Interception.NONE, "./manifests", 1L))
            .generate();
    assertThat(count(yml, "QUARKUS_REST_CLIENT_PROXY_ADDRESS: \"127.0.0.1:15001\"")).isEqualTo(8);
    assertThat(yml).doesNotContain("istio-init").contains("\"--interception\", \"none\"");
  }

  private static int count(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }
}
