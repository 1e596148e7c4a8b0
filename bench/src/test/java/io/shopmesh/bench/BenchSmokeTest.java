package io.shopmesh.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.PushContext;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness's parts, in-process and on ephemeral ports: no timings asserted, only that they work.
 */
class BenchSmokeTest {

  @Test
  void openAndClosedLoopCountEveryRequest() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer server =
          vertx
              .createHttpServer()
              .requestHandler(r -> r.response().end(Upstream.BODY))
              .listen(0, "127.0.0.1")
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      LoadGen.Target t = new LoadGen.Target("127.0.0.1", server.actualPort(), "upstream:8080", "/");
      try (LoadGen g = new LoadGen(t, 4)) {
        LoadGen.Result open = g.openLoop(200, 0.2, 1);
        assertThat(open.sent()).isEqualTo(200);
        assertThat(open.ok()).isEqualTo(200);
        assertThat(open.errors() + open.timeouts()).isZero();
        assertThat(open.micros().getTotalCount()).isEqualTo(200);
        LoadGen.Result closed = g.closedLoop(4, 0.1, 0.5);
        assertThat(closed.ok()).isPositive();
        assertThat(closed.errors()).isZero();
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void syntheticMeshIsValidAndTranslates() {
    LoadResult lr = new ConfigLoader().load(Path.of("synthetic.yaml"), Translation.yaml(5, 3, 0));
    assertThat(lr.diagnostics()).noneMatch(d -> d.level() == Diagnostic.Level.ERROR);
    assertThat(lr.config().virtualServices()).hasSize(5);
    assertThat(lr.config().destinationRules()).hasSize(5);
    LoadResult vs = new ConfigLoader().load(Path.of("vs.yaml"), Translation.vsYaml(0, 3, 1));
    assertThat(vs.config().virtualServices()).hasSize(1);
    ServiceRegistry reg = Translation.registry(5, 3, 10);
    XdsResources r =
        XdsGenerator.generate(
            new PushContext(lr.config()), reg, ProxyNode.sidecar(reg.workloads().get(0)));
    assertThat(r.clusters().size()).isGreaterThanOrEqualTo(5 * 4);
  }

  @Test
  void resultsBlockIsReplacedInPlace(@TempDir Path dir) throws Exception {
    Path doc = dir.resolve("performance.md");
    Files.writeString(doc, "# Performance\n\nintro\n\n## Results\n\n");
    Report.writeInto(doc, Report.BEGIN + "\nfirst\n" + Report.END + "\n");
    Files.writeString(doc, Files.readString(doc) + "\n## After\n");
    Report.writeInto(doc, Report.BEGIN + "\nsecond\n" + Report.END + "\n");
    String text = Files.readString(doc);
    assertThat(text).contains("intro", "second", "## After").doesNotContain("first");
  }

  @Test
  void procReadsCpuAndMemoryOfThisProcess() {
    long pid = ProcessHandle.current().pid();
    assertThat(Procs.cpuSeconds(pid)).isPositive();
    assertThat(Procs.rssBytes(pid)).isGreaterThan(1 << 20);
  }
}
