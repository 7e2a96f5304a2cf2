print("kusari")
