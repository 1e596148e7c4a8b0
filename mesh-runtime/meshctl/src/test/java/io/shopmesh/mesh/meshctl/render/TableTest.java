package io.shopmesh.mesh.meshctl.render;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TableTest {

  @Test
  void alignsColumnsLikeKubectl() {
    String out =
        new Table("NAME", "READY", "IP")
            .row("frontend-abc", "2/2", "127.0.1.11")
            .row("a", "1/1", "x")
            .render();
    assertThat(out)
        .isEqualTo(
            """
        NAME           READY   IP
        frontend-abc   2/2     127.0.1.11
        a              1/1     x
        """);
  }

  @Test
  void noTrailingSpacesAndNullsAreEmpty() {
    String out = new Table("A", "B").row("x", null).render();
    assertThat(out).isEqualTo("A   B\nx\n");
  }
}
