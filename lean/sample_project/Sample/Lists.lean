import Sample.Basic

namespace Sample

/-- Sum of a list of naturals. -/
def sum : List Nat → Nat
  | [] => 0
  | x :: xs => x + sum xs

theorem sum_append (xs ys : List Nat) : sum (xs ++ ys) = sum xs + sum ys := by
  induction xs with
  | nil => simp [sum]
  | cons x xs ih =>
    simp only [List.cons_append, sum]
    rw [ih]
    omega

theorem sum_double (xs : List Nat) : sum (xs.map double) = double (sum xs) := by
  induction xs with
  | nil => rfl
  | cons x xs ih =>
    have h : double (x + sum xs) = double x + double (sum xs) := double_add x (sum xs)
    simp only [List.map, sum, ih]
    rw [h]

theorem and_swap (p q : Prop) (hp : p) (hq : q) : q ∧ p := by
  constructor
  · exact hq
  · exact hp

theorem le_both (n : Nat) : 0 ≤ n ∧ n ≤ n + n := by
  constructor <;> omega

end Sample
