package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Config that must not wedge or silently change the mesh: a 5 MB apply is refused with the limit
 * named and nothing written; a second definition of product-vs in another file is reported by
 * istiod, apply and analyze with both files while the served version stays; a file truncated to 0
 * bytes keeps its last good resources, shown by status; an unknown kind fails apply.
 */
@ExtendWith(MeshExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConfigHazardsTest {

  static MeshTarget mesh;
  static LocalMeshTarget local;
  static ShopClient shop;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void setUp(MeshTarget target) {
    mesh = target;
    assumeTrue(target instanceof LocalMeshTarget, "needs the local target (its config dir)");
    local = (LocalMeshTarget) target;
    shop = new ShopClient(target.gateway());
  }

  @Test
  @Order(1)
  void aFiveMegabyteApplyIsRefusedAndTheMeshIsUnaffected(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws Exception {
    StringBuilder yaml = new StringBuilder();
    int n = 0;
    while (yaml.length() < 5_000_000) {
      yaml.append("---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n")
          .append("  name: made-up-")
          .append(n)
          .append("\nspec:\n  hosts: [made-up-")
          .append(n++)
          .append(".example.invalid]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n")
          .append("  resolution: STATIC\n  endpoints: [{address: 127.0.9.9}]\n");
    }
    Path big = tmp.resolve("big.yaml");
    Files.writeString(big, yaml);
    List<String> before = files();
    long t0 = System.nanoTime();
    MeshTarget.Result r = mesh.apply(big);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf(
        "[figure] apply of %d ServiceEntries (%d bytes) refused in %d ms (meshctl process"
            + " included): %s%n",
        n, yaml.length(), ms, r.output().strip());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.output()).contains("3 MiB").contains("nothing was applied");
    assertThat(files()).isEqualTo(before);
    ShopClient.Tally t = shop.products(50);
    assertThat(t.version("v1") + t.version("v2")).as(t.toString()).isEqualTo(50);
    mesh.awaitReady(Duration.ofSeconds(60));
  }

  @Test
  @Order(2)
  void anUnknownKindFailsApply(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("sidecar.yaml");
    Files.writeString(
        f, "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s}\nspec: {}\n");
    MeshTarget.Result r = mesh.apply(f);
    assertThat(r.exitCode()).as(r.output()).isNotZero();
    assertThat(r.output()).contains("Sidecar");
  }

  @Test
  @Order(3)
  void aDuplicateVirtualServiceInASecondFileIsReportedWithBothFiles() throws Exception {
    Path original = local.configDir().resolve("product-virtualservice.yaml");
    // sorts before the original: file names decide nothing
    Path copy = local.configDir().resolve("a-product-vs-copy.yaml");
    Files.writeString(
        copy,
        Files.readString(original)
            .replace("weight: 80", "weight: 0")
            .replace("weight: 20", "weight: 100"));
    try {
      IstiodFailureTest.await(() -> configz().contains("SM0004"), 10_000);
      String configz = configz();
      assertThat(configz)
          .contains("a-product-vs-copy.yaml")
          .contains("product-virtualservice.yaml");
      MeshTarget.Result analyze = mesh.analyze();
      System.out.println("[figure] analyze with a duplicate product-vs:\n" + analyze.output());
      assertThat(analyze.exitCode()).isNotZero();
      assertThat(analyze.output())
          .contains("SM0004")
          .contains("a-product-vs-copy.yaml")
          .contains("product-virtualservice.yaml");
      MeshTarget.Result apply =
          mesh.apply(mesh.home().resolve("manifests/variants/product-virtualservice-50-50.yaml"));
      System.out.println("[figure] apply while product-vs is duplicated:\n" + apply.output());
      assertThat(apply.exitCode()).isNotZero();
      assertThat(apply.output()).contains("SM0004").contains("a-product-vs-copy.yaml");
      // the version served before stays: still 80/20, never the copy's 0/100
      ShopClient.Tally t = shop.products(100);
      assertThat(t.version("v1")).as(t.toString()).isGreaterThan(50);
    } finally {
      Files.deleteIfExists(copy);
    }
    IstiodFailureTest.await(() -> !currentErrors().contains("SM0004"), 10_000);
  }

  @Test
  @Order(4)
  void anEmptiedFileKeepsTheLastGoodConfig() throws Exception {
    Path vs = local.configDir().resolve("product-virtualservice.yaml");
    String text = Files.readString(vs);
    Files.writeString(vs, "");
    try {
      IstiodFailureTest.await(() -> configz().contains("file is empty"), 10_000);
      MeshTarget.Result status = local.run(Duration.ofSeconds(30), "status");
      System.out.println("[figure] status with an emptied file:\n" + status.output());
      assertThat(status.output())
          .contains("LAST_GOOD VirtualService default/product-vs")
          .contains("file is empty");
      ShopClient.Tally t = shop.products(100);
      assertThat(t.version("v1") + t.version("v2")).as(t.toString()).isEqualTo(100);
      assertThat(t.version("v2")).as("still split 80/20: " + t).isBetween(5, 40);
    } finally {
      Files.writeString(vs, text);
    }
    IstiodFailureTest.await(() -> !currentErrors().contains("file is empty"), 10_000);
  }

  /** istiod's current errors only: configz also keeps a history of past rejections. */
  static String currentErrors() {
    String configz = configz();
    try {
      JsonNode errors = IstiodFailureTest.JSON.readTree(configz).get("errors");
      if (errors == null) {
        throw new IllegalStateException("no errors list in configz: " + configz);
      }
      return errors.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String configz() {
    try {
      return http.send(
              HttpRequest.newBuilder(local.istiodHttp().resolve("/debug/configz"))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (Exception e) {
      return "";
    }
  }

  static List<String> files() throws Exception {
    try (Stream<Path> s = Files.list(local.configDir())) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
