package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import io.shopmesh.mesh.config.MeshConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The resources generated for the walkthrough's manifests, checked in as Envoy JSON under
 * src/test/resources/golden/. Regenerate with {@code -Dgolden.update=true} and review the diff.
 */
class GoldenTest {

  static final Path GOLDEN = Path.of("src/test/resources/golden");

  static Stream<Arguments> proxies() {
    MeshConfig config = Fixtures.manifests();
    ServiceRegistry reg = Fixtures.registry(config);
    return Stream.of(
        Arguments.of(
            "frontend-sidecar", config, reg, ProxyNode.sidecar(Fixtures.pod(reg, "frontend-0"))),
        Arguments.of(
            "product-v1-sidecar",
            config,
            reg,
            ProxyNode.sidecar(Fixtures.pod(reg, "product-service-v1-0"))),
        Arguments.of(
            "order-sidecar", config, reg, ProxyNode.sidecar(Fixtures.pod(reg, "order-service-0"))),
        Arguments.of("ingressgateway", config, reg, ProxyNode.router(Fixtures.GATEWAY_POD)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("proxies")
  void matchesGolden(String name, MeshConfig config, ServiceRegistry reg, ProxyNode proxy)
      throws IOException {
    assertThat(config.virtualServices()).hasSize(4);
    XdsResources r = XdsGenerator.generate(config, reg, proxy);
    check(name + "/lds.json", r.listeners());
    check(name + "/rds.json", r.routes());
    check(name + "/cds.json", r.clusters());
    check(name + "/eds.json", r.endpoints());
  }

  static void check(String file, List<? extends Message> messages) throws IOException {
    // Routes name the file they were read from: relative to the checkout, as a reader expects.
    String actual =
        EnvoyJson.printAll(messages)
            .replace(Fixtures.MANIFESTS.toAbsolutePath().getParent() + "/", "");
    Path p = GOLDEN.resolve(file);
    if (Boolean.getBoolean("golden.update")
        || !Files.exists(p) && Boolean.getBoolean("golden.create")) {
      Files.createDirectories(p.getParent());
      Files.writeString(p, actual);
    }
    assertThat(p).as("golden file %s (regenerate with -Dgolden.update=true)", p).exists();
    assertThat(actual).as("golden %s", file).isEqualTo(Files.readString(p));
  }
}
