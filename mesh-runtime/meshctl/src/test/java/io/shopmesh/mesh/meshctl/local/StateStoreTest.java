package io.shopmesh.mesh.meshctl.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {

  @Test
  void roundTripsTheState(@TempDir Path dir) {
    StateStore store = new StateStore(dir.resolve(".mesh"));
    assertThat(store.read()).isEmpty();
    MeshState st =
        new MeshState(
            123,
            456,
            MeshState.Phase.READY,
            null,
            1000,
            3000,
            "/repo/manifests",
            "127.0.0.1",
            15010,
            15014,
            "127.0.0.1",
            8080,
            List.of(
                new MeshState.PodState(
                    "frontend-a-b",
                    "default",
                    "WORKLOAD",
                    "frontend",
                    "v1",
                    "127.0.1.11",
                    List.of("80->10080"),
                    List.of(
                        new MeshState.ContainerState(
                            "istio-proxy", 11, 0, 0, "/l/p.log", true, null),
                        new MeshState.ContainerState(
                            "frontend", 12, 0, 2, "/l/f.log", true, null)))));
    store.write(st);
    MeshState back = store.read().orElseThrow();
    assertThat(back).isEqualTo(st);
    assertThat(back.gatewayUrl()).isEqualTo("http://localhost:8080");
    assertThat(back.istiodHttpUrl()).isEqualTo("http://127.0.0.1:15014");
    assertThat(back.pods().get(0).defaultContainer().name()).isEqualTo("frontend");
    assertThat(back.pods().get(0).hasProxy()).isTrue();
    store.delete();
    assertThat(store.read()).isEmpty();
  }

  @Test
  void aliveKnowsThisProcessAndRejectsAWrongStartTime() {
    ProcessHandle me = ProcessHandle.current();
    assertThat(StateStore.alive(me.pid(), StateStore.startMillis(me))).isTrue();
    assertThat(StateStore.alive(me.pid(), StateStore.startMillis(me) - 3_600_000)).isFalse();
    assertThat(StateStore.alive(Long.MAX_VALUE - 1, 0)).isFalse();
  }
}
