package io.shopmesh.product.v1;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
class ProductV1Test {

  @Test
  void listsTheCatalogWithVersionAndPod() {
    given()
        .when()
        .get("/api/products")
        .then()
        .statusCode(200)
        .header("x-product-version", "v1")
        .body("version", equalTo("v1"))
        .body("pod", notNullValue())
        .body("count", equalTo(12))
        .body("products.size()", equalTo(12))
        .body("products[0]", not(hasKey("rating")))
        .body("products[0]", not(hasKey("discountPrice")));
  }

  @Test
  void oneProduct() {
    given()
        .when()
        .get("/api/products/3")
        .then()
        .statusCode(200)
        .header("x-product-version", "v1")
        .body("version", equalTo("v1"))
        .body("id", equalTo(3))
        .body("name", equalTo("Merino T-Shirt"))
        .body("price", equalTo(49.50f))
        .body("rating", nullValue());
  }

  @Test
  void unknownIdIsProblem404() {
    given()
        .when()
        .get("/api/products/999")
        .then()
        .statusCode(404)
        .contentType("application/problem+json")
        .header("x-product-version", "v1")
        .body("status", equalTo(404))
        .body("title", equalTo("Product not found"));
    given()
        .when()
        .get("/api/products/abc")
        .then()
        .statusCode(404)
        .contentType("application/problem+json");
  }

  @Test
  void healthMetricsAndOpenApi() {
    given().when().get("/q/health/live").then().statusCode(200);
    given().when().get("/q/health/ready").then().statusCode(200);
    given().when().get("/q/metrics").then().statusCode(200);
    given()
        .accept("application/json")
        .when()
        .get("/q/openapi")
        .then()
        .statusCode(200)
        .body("paths", hasKey("/api/products/{id}"));
  }
}
