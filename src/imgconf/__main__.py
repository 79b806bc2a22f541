from imgconf.cli import main

main()
