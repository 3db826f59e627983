import Sample.Basic
import Sample.Lists

namespace Sample

theorem double_le (a b : Nat) (h : a ≤ b) : double a ≤ double b := by
  calc double a = 2 * a := double_eq_two_mul a
    _ ≤ 2 * b := by omega
    _ = double b := (double_eq_two_mul b).symm

theorem sum_singleton (x : Nat) : sum [x] = x := by
  simp [sum]

example : double 2 = 4 := by decide

theorem sum_le_double (xs : List Nat) : sum xs ≤ double (sum xs) := by
  sorry

end Sample
