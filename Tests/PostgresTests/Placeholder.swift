// Placeholder until this suite lands; delete when adding real tests.
