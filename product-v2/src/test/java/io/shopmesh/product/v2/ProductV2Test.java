package io.shopmesh.product.v2;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
class ProductV2Test {

  @Test
  void listShowsRatingsAndDiscounts() {
    given()
        .when()
        .get("/api/products")
        .then()
        .statusCode(200)
        .header("x-product-version", "v2")
        .body("version", equalTo("v2"))
        .body("pod", notNullValue())
        .body("products.size()", equalTo(12))
        .body("products[0].rating.stars", equalTo(4.6f))
        .body("products[0].discountPrice", equalTo(76.42f));
  }

  @Test
  void oneProductWithRating() {
    given()
        .when()
        .get("/api/products/1")
        .then()
        .statusCode(200)
        .header("x-product-version", "v2")
        .body("version", equalTo("v2"))
        .body("name", equalTo("Trail Running Shoes"))
        .body("rating.reviews", equalTo(312))
        .body("discountPercent", equalTo(15));
  }

  @Test
  void unknownIdIsProblem404() {
    given()
        .when()
        .get("/api/products/0")
        .then()
        .statusCode(404)
        .contentType("application/problem+json")
        .header("x-product-version", "v2")
        .body("detail", equalTo("No product with id '0'"));
  }

  @Test
  void health() {
    given().when().get("/q/health").then().statusCode(200);
  }
}
