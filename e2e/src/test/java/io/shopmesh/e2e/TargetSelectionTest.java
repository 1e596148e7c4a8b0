package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code -De2e.target} and {@code -De2e.mesh} choose the target (constructing one starts nothing;
 * the suite itself runs against the target chosen for the build).
 */
class TargetSelectionTest {

  private final String target = System.getProperty("e2e.target");
  private final String mesh = System.getProperty("e2e.mesh");

  @AfterEach
  void restore() {
    set("e2e.target", target);
    set("e2e.mesh", mesh);
  }

  private static void set(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  @Test
  void kindSelectsTheKindTargetUnderEitherMesh() {
    System.setProperty("e2e.target", "kind");
    System.setProperty("e2e.mesh", "istio");
    assertThat(MeshExtension.create()).isInstanceOf(KindMeshTarget.class);
    System.clearProperty("e2e.mesh");
    assertThat(MeshExtension.create()).isInstanceOf(KindMeshTarget.class);
    System.setProperty("e2e.mesh", "linkerd");
    assertThatThrownBy(MeshExtension::create).hasMessageContaining("unknown e2e.mesh 'linkerd'");
  }

  @Test
  void anUnknownTargetIsNamedWithTheChoices() {
    System.setProperty("e2e.target", "minikube");
    assertThatThrownBy(MeshExtension::create)
        .hasMessageContaining("unknown e2e.target 'minikube' (local, compose, kind)");
  }
}
