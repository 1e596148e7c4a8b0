package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * istiod may die or freeze without anybody noticing: with 50 requests a second through the gateway,
 * istiod is killed (the supervisor restarts it) and then frozen past the proxies' keepalive (60 s
 * SIGSTOP). No client sees an error, and every proxy is in sync again soon after istiod is back.
 */
@ExtendWith(MeshExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IstiodFailureTest {

  static final int RPS = 50;
  static final ObjectMapper JSON = new ObjectMapper();
  static MeshTarget mesh;
  static LocalMeshTarget local;
  static ShopClient shop;
  static final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  @BeforeAll
  static void setUp(MeshTarget target) {
    mesh = target;
    assumeTrue(target instanceof LocalMeshTarget, "needs the local target (istiod's address)");
    local = (LocalMeshTarget) target;
    shop = new ShopClient(target.gateway());
  }

  @Test
  @Order(1)
  void killedIstiodIsNotNoticed() throws Exception {
    long proxies = proxies();
    long back;
    long synced;
    SteadyLoad load = new SteadyLoad(shop, RPS);
    try {
      Thread.sleep(3_000);
      long t0 = System.nanoTime();
      mesh.kill("istiod", null);
      awaitNot(this::istiodReady, 10_000);
      // istiod serves xDS as soon as its config and registry are loaded, a little before it
      // reports ready: proxies may reconnect in between
      long portOpen = await(this::xdsPortOpen, 120_000);
      back = await(this::istiodReady, 120_000);
      synced = await(() -> syncedProxies() == proxies, 60_000);
      Thread.sleep(5_000);
      System.out.printf(
          "[figure] istiod killed: xDS port open again after %d ms, ready after %d ms; all %d"
              + " proxies in sync %d ms after ready (%d ms after the port opened)%n",
          (portOpen - t0) / 1_000_000,
          (back - t0) / 1_000_000,
          proxies,
          Math.max(0, synced - back) / 1_000_000,
          (synced - portOpen) / 1_000_000);
    } finally {
      load.close();
    }
    System.out.println("[figure] istiod killed under " + RPS + " rps: " + load);
    assertThat(load.errors()).as(load + " " + load.firstFailures).isZero();
    assertThat((synced - back) / 1_000_000)
        .as("ms from istiod ready to proxies in sync")
        .isLessThanOrEqualTo(1_000);
  }

  @Test
  @Order(2)
  void frozenIstiodIsNotNoticed() throws Exception {
    mesh.awaitReady(Duration.ofMinutes(2));
    long proxies = proxies();
    long resumed;
    long synced;
    String during;
    SteadyLoad load = new SteadyLoad(shop, RPS);
    try {
      Thread.sleep(3_000);
      mesh.pause("istiod");
      try {
        Thread.sleep(45_000);
        during = local.run(Duration.ofSeconds(30), "status").output();
        Thread.sleep(15_000);
      } finally {
        mesh.resume("istiod");
      }
      resumed = System.nanoTime();
      synced = await(() -> syncedProxies() == proxies, 60_000);
      Thread.sleep(5_000);
      System.out.printf(
          "[figure] istiod frozen 60 s: all %d proxies in sync %d ms after it resumed%n",
          proxies, (synced - resumed) / 1_000_000);
    } finally {
      load.close();
    }
    System.out.println("[figure] istiod frozen 60 s under " + RPS + " rps: " + load);
    System.out.println("meshctl status while istiod was frozen:\n" + during);
    assertThat(load.errors()).as(load + " " + load.firstFailures).isZero();
    assertThat(during).contains("control plane unreachable").doesNotContain("NotReady");
    assertThat((synced - resumed) / 1_000_000)
        .as("ms from resume to proxies in sync")
        .isLessThanOrEqualTo(1_000);
  }

  // ------------------------------------------------------------------ helpers

  static long proxies() {
    return mesh.pods().stream()
        .filter(p -> !p.workload().equals("istiod") && !p.namespace().equals("-"))
        .count();
  }

  boolean istiodReady() {
    try {
      return http.send(
                  HttpRequest.newBuilder(local.istiodHttp().resolve("/ready"))
                      .timeout(Duration.ofMillis(500))
                      .build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode()
          == 200;
    } catch (Exception e) {
      return false;
    }
  }

  boolean xdsPortOpen() {
    try (Socket s = new Socket()) {
      s.connect(local.istiodXds(), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Proxies whose four types are SYNCED in istiod's syncz. */
  long syncedProxies() {
    try {
      URI u = local.istiodHttp().resolve("/debug/syncz");
      JsonNode all =
          JSON.readTree(
              http.send(
                      HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(1)).build(),
                      HttpResponse.BodyHandlers.ofString())
                  .body());
      long n = 0;
      for (JsonNode p : all) {
        boolean ok = true;
        for (String t : new String[] {"CDS", "LDS", "EDS", "RDS"}) {
          ok &= "SYNCED".equals(p.path(t).path("status").asText());
        }
        n += ok ? 1 : 0;
      }
      return n;
    } catch (Exception e) {
      return -1;
    }
  }

  /** Polls every 25 ms; returns System.nanoTime() when the condition first held. */
  static long await(java.util.function.BooleanSupplier c, long timeoutMillis)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (System.nanoTime() < deadline) {
      if (c.getAsBoolean()) {
        return System.nanoTime();
      }
      Thread.sleep(25);
    }
    throw new AssertionError("not within " + timeoutMillis + " ms");
  }

  static void awaitNot(java.util.function.BooleanSupplier c, long timeoutMillis)
      throws InterruptedException {
    await(() -> !c.getAsBoolean(), timeoutMillis);
  }
}
