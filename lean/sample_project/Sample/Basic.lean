/-! Basic definitions of the sample project. -/

namespace Sample

/-- Twice a natural number. -/
def double (n : Nat) : Nat := n + n

theorem double_eq_two_mul (n : Nat) : double n = 2 * n := by
  unfold double
  omega

theorem double_add (a b : Nat) : double (a + b) = double a + double b := by
  simp only [double_eq_two_mul]
  omega

/-- Term-mode proof. -/
theorem double_zero : double 0 = 0 := rfl

end Sample
