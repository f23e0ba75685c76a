package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class OptimalAssignmentTest {

  @Test
  void findsTheMinimumCostAssignmentWhereGreedyChoiceFails() {
    // Greedy takes row 0 -> col 0 (cost 1) and then pays 100; the optimum is 2 + 3 = 5.
    double[][] cost = {
        {1, 2},
        {3, 100}};
    assertArrayEquals(new int[] {1, 0}, OptimalAssignment.solve(cost));
  }

  @Test
  void solvesAClassicThreeByThreeExample() {
    // Worker/job example: optimum is 0->1 (1), 1->0 (2), 2->2 (2), total 5.
    double[][] cost = {
        {4, 1, 3},
        {2, 0, 5},
        {3, 2, 2}};
    assertArrayEquals(new int[] {1, 0, 2}, OptimalAssignment.solve(cost));
  }

  @Test
  void leavesSurplusRowsUnassignedAndGivesSurplusColumnsToNobody() {
    double[][] moreRows = {{5}, {1}, {3}};
    assertArrayEquals(new int[] {-1, 0, -1}, OptimalAssignment.solve(moreRows));
    double[][] moreCols = {{5, 1, 3}};
    assertArrayEquals(new int[] {1}, OptimalAssignment.solve(moreCols));
  }

  @Test
  void rejectsRaggedOrNonFiniteCosts() {
    assertThrows(IllegalArgumentException.class, () -> OptimalAssignment.solve(new double[][] {{1, 2}, {3}}));
    assertThrows(IllegalArgumentException.class, () -> OptimalAssignment.solve(new double[][] {{Double.NaN}}));
  }
}
