import Kusari
