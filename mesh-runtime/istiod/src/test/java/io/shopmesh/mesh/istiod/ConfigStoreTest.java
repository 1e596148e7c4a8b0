package io.shopmesh.mesh.istiod;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigStoreTest {

  static final String VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: %s
      spec:
        hosts: [%s]
        http:
        - timeout: %s
          route:
          - destination: {host: %s}
      """;

  @TempDir Path dir;

  @Test
  void aRejectedResourceKeepsItsLastGoodVersionOthersMoveOn() throws IOException {
    ConfigStore store = new ConfigStore();
    Files.writeString(dir.resolve("a.yaml"), VS.formatted("a", "a", "5s", "a"));
    Files.writeString(dir.resolve("b.yaml"), VS.formatted("b", "b", "5s", "b"));
    assertThat(store.update(load())).isTrue();
    assertThat(store.current().virtualServices()).hasSize(2);
    // nothing rejected: the push context the preflight check translated with is the served one
    assertThat(store.pushContext().config()).isEqualTo(store.current());
    var checked = store.pushContext();

    Files.writeString(dir.resolve("a.yaml"), VS.formatted("a", "a", "soon", "a"));
    Files.writeString(dir.resolve("b.yaml"), VS.formatted("b", "b", "7s", "b"));
    assertThat(store.update(load())).isTrue();
    var a =
        store.current().virtualServices().stream()
            .filter(l -> l.name().equals("a"))
            .findFirst()
            .orElseThrow();
    var b =
        store.current().virtualServices().stream()
            .filter(l -> l.name().equals("b"))
            .findFirst()
            .orElseThrow();
    assertThat(a.object().getSpec().getHttp().get(0).getTimeout()).isEqualTo("5s");
    assertThat(store.isStale(a)).isTrue();
    assertThat(b.object().getSpec().getHttp().get(0).getTimeout()).isEqualTo("7s");
    assertThat(store.rejectedTotal()).isEqualTo(1);
    assertThat(store.rejections().get(0).diagnostic()).contains("a.yaml:");
    // a rejection: the served config is not the checked one, so its own push context is built
    assertThat(store.pushContext()).isNotSameAs(checked);
    assertThat(store.pushContext().config()).isEqualTo(store.current());

    // the same error again is not counted twice; fixing it serves the new version
    store.update(load());
    assertThat(store.rejectedTotal()).isEqualTo(1);
    Files.writeString(dir.resolve("a.yaml"), VS.formatted("a", "a", "9s", "a"));
    store.update(load());
    assertThat(store.currentErrors()).isEmpty();
    assertThat(store.current().virtualServices()).hasSize(2);

    // an unparsable file keeps what it held; a deleted file removes it
    Files.writeString(dir.resolve("a.yaml"), "kind: VirtualService\n  : : [\n");
    store.update(load());
    assertThat(store.current().virtualServices()).extracting(l -> l.name()).contains("a");
    Files.delete(dir.resolve("a.yaml"));
    store.update(load());
    assertThat(store.current().virtualServices()).extracting(l -> l.name()).containsExactly("b");
  }

  private io.shopmesh.mesh.config.LoadResult load() {
    return new ConfigLoader().load(List.of(dir));
  }

  @Test
  void aLineAddedInsideADocumentIsNewConfig() throws IOException {
    ConfigStore store = new ConfigStore();
    Files.writeString(dir.resolve("a.yaml"), VS.formatted("a", "a", "5s", "a"));
    assertThat(store.update(load())).isTrue();
    assertThat(store.update(load())).as("the same file again").isFalse();
    // the routes name the line of each rule: a comment above it moves that line
    Files.writeString(
        dir.resolve("a.yaml"),
        VS.formatted("a", "a", "5s", "a").replace("  http:\n", "  # canary\n  http:\n"));
    assertThat(store.update(load())).isTrue();
  }

  @Test
  void debounceCoalescesABurstAndWaitsForQuiet() throws InterruptedException {
    AtomicInteger fired = new AtomicInteger();
    AtomicLong firstToFire = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    try (Debouncer d =
        new Debouncer(
            100,
            10_000,
            start -> {
              fired.incrementAndGet();
              firstToFire.set(System.nanoTime() - start);
              done.countDown();
            })) {
      for (int i = 0; i < 5; i++) {
        d.trigger();
        Thread.sleep(30);
      }
      assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(200);
      assertThat(fired.get()).isEqualTo(1);
      // 4 x 30 ms of events, then 100 ms of quiet
      assertThat(TimeUnit.NANOSECONDS.toMillis(firstToFire.get())).isGreaterThanOrEqualTo(210);
    }
  }

  @Test
  void debounceNeverWaitsLongerThanTheMax() throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    try (Debouncer d = new Debouncer(100, 300, start -> done.countDown())) {
      long t0 = System.nanoTime();
      while (done.getCount() > 0 && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(3)) {
        d.trigger();
        Thread.sleep(20);
      }
      assertThat(done.getCount()).isZero();
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1500);
    }
  }

  @Test
  void applyReplacesTheDocumentWhereItLives() {
    String text =
        "# header\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: x\nkind: Y\n"
            + "metadata: {name: old}\n---\nkind: Z\n";
    String out =
        Applier.replaceDocument(text, 6, "apiVersion: x\nkind: Y\nmetadata: {name: new}\n");
    assertThat(out)
        .contains("metadata: {name: s}")
        .contains("metadata: {name: new}")
        .contains("kind: Z")
        .doesNotContain("old");
    assertThat(Applier.replaceDocument("kind: A\n", 1, "kind: B\n")).isEqualTo("kind: B\n");
  }

  @Test
  void applyFindsDocumentsByTheLinesConfigLoaderGives() throws IOException {
    String text =
        """
        # a file with three objects

        apiVersion: v1
        kind: Service
        metadata: {name: one}
        spec:
          ports: [{port: 80, name: http}]
          selector: {app: one}
        --- # the second

        # leading comment belongs to the document
        apiVersion: v1
        kind: Service
        metadata: {name: two}
        spec:
          ports: [{port: 80, name: http}]
          selector: {app: two}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: three}
        spec:
          ports: [{port: 80, name: http}]
          selector: {app: three}
        """;
    Path f = dir.resolve("three.yaml");
    Files.writeString(f, text);
    var loaded = new ConfigLoader().load(List.of(f)).config().services();
    assertThat(loaded).hasSize(3);
    var two = loaded.stream().filter(l -> l.name().equals("two")).findFirst().orElseThrow();
    String replaced =
        Applier.replaceDocument(
            text,
            two.source().line(),
            "apiVersion: v1\nkind: Service\nmetadata: {name: two}\nspec:\n  ports: [{port: 81, name: http}]\n"
                + "  selector: {app: two}\n");
    Files.writeString(f, replaced);
    var again = new ConfigLoader().load(List.of(f)).config().services();
    assertThat(again).extracting(l -> l.name()).containsExactly("one", "two", "three");
    assertThat(again.get(1).object().getSpec().getPorts().get(0).getPort()).isEqualTo(81);
    assertThat(again.get(0).object().getSpec().getPorts().get(0).getPort()).isEqualTo(80);
    assertThat(replaced).contains("# a file with three objects").contains("--- # the second");
  }
}
