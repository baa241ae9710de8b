# bash completion for lazyrpc(1)
_lazyrpc() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmds="call describe health help list stats up"
	local opts

	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		return
	fi
	case $prev in
	--dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--handoff) COMPREPLY=($(compgen -W "futex rpal-kernel" -- "$cur")); return ;;
	--deadline|--prefix|-H) return ;;
	esac
	case ${COMP_WORDS[1]} in
	up) COMPREPLY=($(compgen -f -- "$cur")) ;;
	list) COMPREPLY=($(compgen -W "--json --dir --deadline" -- "$cur")) ;;
	stats|describe|health|call)
		case ${COMP_WORDS[1]} in
		stats) opts="--json --prefix --deadline --handoff" ;;
		call) opts="--json -H --deadline --handoff" ;;
		*) opts="--json --deadline --handoff" ;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		elif [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -W "lrpc:// unix:// tcp:// grpc:// grpcs:// grpc+unix://" -- "$cur"))
			compopt -o nospace 2>/dev/null
		fi ;;
	esac
}
complete -F _lazyrpc lazyrpc
