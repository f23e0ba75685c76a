package io.github.personas.pipeline.predict;

import java.util.Arrays;
import org.apache.commons.math3.analysis.MultivariateFunction;
import org.apache.commons.math3.exception.MathIllegalStateException;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.SimpleBounds;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.BOBYQAOptimizer;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.NelderMeadSimplex;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.SimplexOptimizer;

/**
 * The search both models' fits use: the minimum of a function of log-parameters in the box
 * [-{@value #BOUND}, {@value #BOUND}]^n from the origin (every parameter 1), by BOBYQA, or by a
 * Nelder-Mead simplex where BOBYQA's quadratic model breaks down (a handful of customers, a flat
 * likelihood: "trust region step has failed to reduce Q").
 */
final class BoxSearch {

  /** The box on the log scale: parameters between e^-12 and e^12. */
  static final double BOUND = 12;
  private static final int MAX_EVALUATIONS = 20_000;

  /**
   * The point found.
   *
   * @param point       the log-parameters
   * @param evaluations function evaluations, both searches' when the first broke down
   */
  record Found(double[] point, int evaluations) {
    /** True when a parameter ran off towards the box's edge: beyond e^±10. */
    boolean nearBound() {
      return Arrays.stream(point).anyMatch(v -> Math.abs(v) > BOUND - 2);
    }
  }

  private BoxSearch() {}

  /** The minimum of {@code f} over the box; {@code f} may return {@link Double#MAX_VALUE} where it is undefined. */
  static Found minimize(MultivariateFunction f, int dims) {
    double[] lower = new double[dims];
    double[] upper = new double[dims];
    Arrays.fill(lower, -BOUND);
    Arrays.fill(upper, BOUND);
    BOBYQAOptimizer bobyqa = new BOBYQAOptimizer(2 * dims + 1, 0.5, 1e-10);
    try {
      PointValuePair best = bobyqa.optimize(new MaxEval(MAX_EVALUATIONS), new ObjectiveFunction(f),
          GoalType.MINIMIZE, new InitialGuess(new double[dims]), new SimpleBounds(lower, upper));
      return new Found(best.getPoint(), bobyqa.getEvaluations());
    } catch (MathIllegalStateException e) {
      // The simplex keeps to the box by the objective: outside it, nothing is better than anything.
      MultivariateFunction boxed = x -> Arrays.stream(x).allMatch(v -> Math.abs(v) <= BOUND) ? f.value(x)
          : Double.MAX_VALUE;
      SimplexOptimizer simplex = new SimplexOptimizer(1e-12, 1e-12);
      PointValuePair best = simplex.optimize(new MaxEval(MAX_EVALUATIONS), new ObjectiveFunction(boxed),
          GoalType.MINIMIZE, new InitialGuess(new double[dims]), new NelderMeadSimplex(dims, 0.5));
      return new Found(best.getPoint(), bobyqa.getEvaluations() + simplex.getEvaluations());
    }
  }
}
