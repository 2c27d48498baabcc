import Linalg
@main struct GEMMBench { static func main() { print(BLAS.configuration) } }
