/// LAPACKE's character arguments (`jobz`, `uplo`, `trans`) import as `CChar`.
@usableFromInline
func _lapackChar(_ c: Unicode.Scalar) -> CChar {
  CChar(truncatingIfNeeded: c.value)
}
